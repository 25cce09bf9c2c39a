
raise RuntimeError("the module fails at import time")
