"""The registry of resonant methods: a new method is one file here and one line below."""

from hepad.methods.anode import ANODE
from hepad.methods.base import Method, WindowInputs
from hepad.methods.cathode import Cathode
from hepad.methods.cwola import CWoLa
from hepad.methods.iad import IAD
from hepad.methods.ranode import RANODE
from hepad.methods.sigma import Sigma
from hepad.methods.supervised import Supervised

METHODS: dict[str, type[Method]] = {m.name: m for m in (IAD, Supervised, CWoLa, ANODE, Cathode, RANODE, Sigma)}

__all__ = ["METHODS", "Method", "WindowInputs"]
