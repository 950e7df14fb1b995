"""guideminer: mine guidelines and departments from support conversations; run the agent offline."""

import os as _os
import platform as _platform

__version__ = "0.1.0"

# Numba (UMAP, pynndescent) compiles for the host CPU by default, so the same vectors could be
# reduced with other instructions (vector widths, FMA contraction) on the next machine, and
# clustering amplifies a last-bit difference into other clusters (docs/results.md, fifth
# session: an ulp-level perturbation gave ARI 0.95). The project targets any x86-64 with AVX2
# (as the llama.cpp build does): pin numba's target to that ISA unless the user chose one.
# Set before numba is imported: every numba user here imports it lazily, after this package.
NUMBA_CPU_TARGET = "haswell"
if _platform.machine().lower() in ("x86_64", "amd64"):
    _os.environ.setdefault("NUMBA_CPU_NAME", NUMBA_CPU_TARGET)
