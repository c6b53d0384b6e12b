#!/usr/bin/env bash
# Create the virtual environment and install realm with its test tools.
# torch goes in first so a machine without a GPU gets the CPU build and never
# silently downloads the multi-GB CUDA one.
set -euo pipefail
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"
TORCH_VERSION="2.13.0"

"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "realm needs Python 3.11 or newer")'
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)

if "$VENV/bin/python" -c "import torch, sys; sys.exit(0 if torch.__version__.split('+')[0] == '$TORCH_VERSION' else 1)" 2>/dev/null; then
    echo "torch $TORCH_VERSION already installed"
elif command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    echo "GPU found: installing torch $TORCH_VERSION (CUDA build)"
    "${PIP[@]}" install "torch==$TORCH_VERSION"
elif "${PIP[@]}" install --no-index --no-deps "torch==$TORCH_VERSION+cpu" 2>/dev/null; then
    # The CPU wheel was found locally (pip's find-links); now its dependencies from the index.
    "${PIP[@]}" install "torch==$TORCH_VERSION+cpu"
    echo "no GPU: installed torch $TORCH_VERSION (CPU build found locally)"
else
    echo "no GPU: installing torch $TORCH_VERSION CPU build from the PyTorch CPU index"
    "${PIP[@]}" install "torch==$TORCH_VERSION+cpu" --index-url https://download.pytorch.org/whl/cpu
fi

"${PIP[@]}" install -e ".[dev]"
"$VENV/bin/python" -m pip check
echo "realm installed in $VENV"
