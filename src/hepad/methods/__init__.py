"""The registry of resonant methods: a new method is one file here and one line below."""

from hepad.methods.base import Method, WindowInputs
from hepad.methods.cwola import CWoLa
from hepad.methods.iad import IAD
from hepad.methods.supervised import Supervised

METHODS: dict[str, type[Method]] = {m.name: m for m in (IAD, Supervised, CWoLa)}

__all__ = ["METHODS", "Method", "WindowInputs"]
