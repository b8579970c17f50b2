"""Requests to the Colab front end: only ``get_ipynb``, answered from ``$COLAB_STUB_NOTEBOOK``."""
import json
import os


def blocking_request(request_type, request="", timeout_sec=5, parent=None):
    """Colab's reply to ``get_ipynb``: ``{"ipynb": <the notebook as the browser has it>}``."""
    if request_type != "get_ipynb":
        raise NotImplementedError(f"the Colab stand-in answers get_ipynb only, not {request_type}")
    with open(os.environ["COLAB_STUB_NOTEBOOK"], encoding="utf-8") as file:
        return {"ipynb": json.load(file)}
