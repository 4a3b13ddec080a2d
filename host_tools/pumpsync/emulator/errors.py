"""The emulator's one exception type, shared by its modules."""


class EmulatorError(RuntimeError):
    """Wrong use of the emulator, or an emulated unit that stopped answering."""
