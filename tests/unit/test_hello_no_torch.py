"""The parent never imports torch (docs/architecture.md): the trainer's `Hello` carries torch's
version as a plain str. `torch.__version__` is a `TorchVersion` (a str subclass); pickled as one,
unpickling the first event in the parent imported all of torch there, beside the training child."""

from __future__ import annotations

import pickle

from realm_tui.contract.protocol import Hello


class VersionLike(str):
    """Stands in for torch's TorchVersion: a str subclass from another module."""


def test_hello_pickles_its_torch_version_as_a_plain_str() -> None:
    hello = Hello(pid=1, torch_version=VersionLike("2.5.1+cpu"), device="cpu", precision="fp32")
    data = pickle.dumps(hello)
    assert b"VersionLike" not in data, "the parent would import the version's module to unpickle it"
    back = pickle.loads(data)
    assert type(back.torch_version) is str and back.torch_version == "2.5.1+cpu"
