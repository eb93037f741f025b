# Whether OpenBLAS's CBLAS header and link library are installed (Debian: libopenblas-dev): binding.gyp then compiles
# the native dense step (src/dense_step.cc) and links -lopenblas. gyp calls DoMain through pymod_do_main, in its own
# Python, so no `python3` on PATH is assumed; `python3 detect_blas.py` prints the same answer.
import glob
import os


def DoMain(_argv):
    headers = ["/usr/include/cblas.h", "/usr/include/openblas/cblas.h"] + glob.glob("/usr/include/*-linux-gnu/cblas.h")
    libs = (
        glob.glob("/usr/lib/libopenblas.so")
        + glob.glob("/usr/lib/*-linux-gnu/libopenblas.so")
        + glob.glob("/usr/lib64/libopenblas.so")
    )
    return "1" if any(os.path.exists(h) for h in headers) and libs else "0"


if __name__ == "__main__":
    print(DoMain([]))
