"""FEMS local REST/JSON simulator: roles by password, regex reads, both error generations."""

from .simulator import CLI, DEFAULT_PASSWORDS, FemsRestSimulator, Role

__all__ = ["CLI", "DEFAULT_PASSWORDS", "FemsRestSimulator", "Role"]
