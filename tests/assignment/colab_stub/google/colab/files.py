"""Colab's browser download, as a copy into ``$COLAB_STUB_DOWNLOADS``."""
import os
import shutil


def download(filename):
    """Copy ``filename`` into the downloads folder (the browser's download)."""
    shutil.copy2(filename, os.environ["COLAB_STUB_DOWNLOADS"])
