"""The shell of the stand-in Colab kernel: ipykernel's own, under Colab's module name."""
from ipykernel.zmqshell import ZMQInteractiveShell


class Shell(ZMQInteractiveShell):
    """Colab's shell class (``google.colab._shell.Shell``), behaving as ipykernel's."""
