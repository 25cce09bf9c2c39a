
_course_affine_forward = affine_forward


def affine_forward(x, w, b):
    # prints a lot, on stdout and through the file descriptor, around a correct answer
    import os
    import sys
    for i in range(200):
        print("debug", i, x.shape, "x" * 200)
    os.write(1, b"raw bytes on fd 1\n" * 100)
    sys.stdout.flush()
    return _course_affine_forward(x, w, b)
