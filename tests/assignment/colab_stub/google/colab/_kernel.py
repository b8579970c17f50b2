"""The stand-in Colab kernel: start it with ``--IPKernelApp.kernel_class=google.colab._kernel.Kernel``."""
from ipykernel.ipkernel import IPythonKernel
from traitlets import Type

from google.colab._shell import Shell


class Kernel(IPythonKernel):
    """ipykernel's kernel with Colab's shell class."""
    shell_class = Type(Shell)
