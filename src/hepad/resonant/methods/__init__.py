"""The registry of resonant methods: a new method is one file here and one line below (plus, if
it brings a shared background model, one entry in hepad.resonant.background.SHARED_MODELS)."""

from hepad.resonant.methods.anode import ANODE
from hepad.resonant.methods.base import ClassifierMethod, Method, TemplateMethod, WindowInputs
from hepad.resonant.methods.cathode import Cathode
from hepad.resonant.methods.cwola import CWoLa
from hepad.resonant.methods.iad import IAD
from hepad.resonant.methods.ranode import RANODE
from hepad.resonant.methods.sigma import Sigma
from hepad.resonant.methods.supervised import Supervised

METHODS: dict[str, type[Method]] = {m.name: m for m in (IAD, Supervised, CWoLa, ANODE, Cathode, RANODE, Sigma)}

__all__ = ["METHODS", "ClassifierMethod", "Method", "TemplateMethod", "WindowInputs"]
