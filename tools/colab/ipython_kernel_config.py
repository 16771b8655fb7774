# Installed by tools/colab/check.sh as <venv>/etc/ipython/ipython_kernel_config.py:
# IPython reads it in every kernel of that venv (and only in kernels).
c = get_config()  # noqa: F821
c.InteractiveShellApp.exec_lines = [
    # Colab's kernel has google.colab imported before the first cell runs; notebooks
    # test `"google.colab" in sys.modules`. Import it without binding a name.
    "import google.colab as _colab_standin; del _colab_standin",
    # check.sh's parameter guard (does nothing unless COLAB_CHECK_PARAMS is set).
    "import _colab_check_guard as _guard; _guard.install(); del _guard",
]
