"""hepad: machine-learning anomaly detection workflows for collider physics."""

__version__ = "0.1.0"
