"""The offline AWS: moto 5.2.5 plus the project's extensions (see docs/local-emulation.md).

``Emulator`` runs in-process (tests); ``python -m local.server`` serves the same thing over HTTP and
``RemoteEmulator`` drives it from another process (CLI, demo).
"""

from .deploy import DeployError, DeployResult
from .emulator import Driver, Emulator

__all__ = ["DeployError", "DeployResult", "Driver", "Emulator"]
