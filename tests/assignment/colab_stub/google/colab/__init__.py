"""A stand-in for the ``google.colab`` package of a Colab runtime, for the Colab test.

Real Colab runs the kernel ``google.colab._kernel.Kernel``, whose shell class lives in
``google.colab._shell``: Otter recognises Colab by that name in ``str(get_ipython())``. The
front end's services are replaced by files named in environment variables:

- ``_message.blocking_request("get_ipynb")`` returns the notebook JSON at ``$COLAB_STUB_NOTEBOOK``
  (the test writes the notebook there, outputs so far included, before every cell, as the
  browser holds it);
- ``files.download(path)`` copies the file into ``$COLAB_STUB_DOWNLOADS``.
"""
