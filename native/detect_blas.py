# Prints 1 when OpenBLAS's CBLAS header and link library are installed (Debian: libopenblas-dev), else 0:
# binding.gyp then compiles the native dense step (src/dense_step.cc) and links -lopenblas.
import glob
import os

HEADERS = ["/usr/include/cblas.h", "/usr/include/openblas/cblas.h"] + glob.glob("/usr/include/*-linux-gnu/cblas.h")
LIBS = glob.glob("/usr/lib/libopenblas.so") + glob.glob("/usr/lib/*-linux-gnu/libopenblas.so") + glob.glob(
    "/usr/lib64/libopenblas.so"
)
print(1 if any(os.path.exists(h) for h in HEADERS) and LIBS else 0)
