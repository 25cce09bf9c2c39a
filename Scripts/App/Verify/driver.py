"""The Python side of `functional verify`: runs a student's course functions for the app, over pipes.

Protocol (both directions): a frame is a 4-byte little-endian length, then a UTF-8 JSON header of that length, then
the .npy payloads the header lists (header["payloads"] = [byte length, ...]). In a JSON value, {"$npy": i} is the
i-th payload (with "dtype": "int64" or "bool" it is converted: labels and word indices, masks),
{"$ref": [s, k, ...]}
is the result of step s of the same case (then item k of it, or attribute a for ".a", ...), a float is always
written with a '.', and an object the app cannot read comes back as {"$obj": "type name"}.

Requests: {"op": "import", "root": DIR, "modules": [...]} imports the student's modules from DIR (read-only: no
bytecode is written); {"op": "run", "timeout": SECONDS, "cases": [[step, ...], ...]} runs each case's steps in
order; {"op": "quit"}. A step is {"call": "module.function" | {"$ref": ...}, "method": NAME?, "args": [...],
"kwargs": {...}, "return": true|false, "pick": k?, "needs": REF?} (pick: send back only item k of the result;
needs: if that earlier result is None, or a tuple starting with None, the case is not-implemented), {"let": VALUE}
(an object later steps refer to, e.g. a bn_param dict the student's function updates), {"get": {"$ref": ...}} (its current value), or {"setitem": REF, "key": K, "value": V}.

Replies to "run": one {"progress": i} frame after each case, then {"results": [case, ...]} where a case is
{"status": "ok", "values": [...]} (one value per step, null where the step is not returned) or {"status":
"not-found" | "not-implemented" | "error" | "timeout", "step": s, "message": ..., "traceback": ...}. After a
timeout the remaining cases are not run. Each call has its own time limit (SIGALRM), and the app kills the driver
if a call ignores it.

The student's prints go to standard error: the protocol has its own copy of the original standard output.
"""

import importlib
import io
import json
import os
import signal
import struct
import sys
import traceback

sys.dont_write_bytecode = True

# The protocol channel: a private copy of fd 1; fd 1 (and sys.stdout) then point at stderr, so that neither print()
# nor a C extension writing to fd 1 can corrupt a frame.
_proto_out = os.fdopen(os.dup(1), "wb", buffering=0)
os.dup2(2, 1)
sys.stdout = sys.stderr
_proto_in = sys.stdin.buffer

import numpy as np  # noqa: E402  (after the redirection, so that numpy's own prints go to stderr too)


class CallTimeout(BaseException):
    """Raised in the student's code when a call exceeds its time limit (a BaseException: `except Exception` in the
    student's code does not swallow it)."""


def _alarm(signum, frame):
    raise CallTimeout()


signal.signal(signal.SIGALRM, _alarm)


def read_exact(n):
    data = bytearray()
    while len(data) < n:
        chunk = _proto_in.read(n - len(data))
        if not chunk:
            raise EOFError()
        data.extend(chunk)
    return bytes(data)


def read_frame():
    (length,) = struct.unpack("<I", read_exact(4))
    header = json.loads(read_exact(length).decode("utf-8"))
    payloads = [read_exact(n) for n in header.get("payloads", [])]
    return header, payloads


def _json_float(x):
    if x != x:
        return {"$float": "nan"}
    if x in (float("inf"), float("-inf")):
        return {"$float": "inf" if x > 0 else "-inf"}
    return float(x)


def write_frame(header, payloads=()):
    header = dict(header)
    header["payloads"] = [len(p) for p in payloads]
    body = json.dumps(header, allow_nan=False).encode("utf-8")
    _proto_out.write(struct.pack("<I", len(body)) + body + b"".join(payloads))


def to_npy(a):
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(np.asarray(a, dtype=np.float64)), allow_pickle=False)
    return buf.getvalue()


def from_npy(b):
    return np.load(io.BytesIO(b), allow_pickle=False)


def encode(value, payloads):
    """A result as JSON (arrays appended to payloads)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return _json_float(float(value))
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            return {"$obj": "ndarray of objects"}
        payloads.append(to_npy(value))
        return {"$npy": len(payloads) - 1, "dtype": str(value.dtype)}
    if isinstance(value, (list, tuple)):
        return [encode(v, payloads) for v in value]
    if isinstance(value, dict):
        return {"$dict": [[encode(k, payloads), encode(v, payloads)] for k, v in value.items()]}
    return {"$obj": type(value).__name__}


def decode(value, payloads, results):
    """A request value as Python objects (a fresh copy each time, except references)."""
    if isinstance(value, list):
        return [decode(v, payloads, results) for v in value]
    if isinstance(value, dict):
        if "$npy" in value:
            a = from_npy(payloads[value["$npy"]])
            dtype = value.get("dtype")
            return a.astype(np.int64) if dtype == "int64" else a.astype(bool) if dtype == "bool" else a.copy()
        if "$ref" in value:
            path = value["$ref"]
            obj = results[path[0]]
            for k in path[1:]:
                obj = getattr(obj, k[1:]) if isinstance(k, str) and k.startswith(".") else obj[k]
            return obj
        if "$tuple" in value:
            return tuple(decode(v, payloads, results) for v in value["$tuple"])
        return {k: decode(v, payloads, results) for k, v in value.items()}
    return value


class NotFound(Exception):
    pass


def resolve(target, payloads, results, method=None):
    if isinstance(target, str):
        module_name, _, name = target.rpartition(".")
        module = sys.modules.get(module_name)
        if module is None:
            raise NotFound(f"module {module_name} is not imported")
        if not hasattr(module, name):
            raise NotFound(f"{module_name.replace('.', '/')}.py has no {name}")
        fn = getattr(module, name)
    else:
        fn = decode(target, payloads, results)
    if method is not None:
        if not hasattr(fn, method):
            raise NotFound(f"{type(fn).__name__} has no method {method}")
        fn = getattr(fn, method)
    return fn


def timed(timeout, fn, *args, **kwargs):
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        return fn(*args, **kwargs)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def run_step(step, payloads, results, timeout):
    if "let" in step:
        return decode(step["let"], payloads, results)
    if "get" in step:
        return decode(step["get"], payloads, results)
    if "setitem" in step:
        obj = decode(step["setitem"], payloads, results)
        obj[decode(step["key"], payloads, results)] = decode(step["value"], payloads, results)
        return None
    if "needs" in step:
        needed = decode(step["needs"], payloads, results)
        if needed is None or (isinstance(needed, tuple) and len(needed) > 0 and needed[0] is None):
            raise NotImplementedError(f"({step['needsName']} returns None)")
    fn = resolve(step["call"], payloads, results, step.get("method"))
    args = decode(step.get("args", []), payloads, results)
    kwargs = decode(step.get("kwargs", {}), payloads, results)
    return timed(timeout, fn, *args, **kwargs)


def short_traceback():
    """The traceback without the driver's own frames."""
    etype, evalue, tb = sys.exc_info()
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__ and tb.tb_next is not None:
        tb = tb.tb_next
    return "".join(traceback.format_exception(etype, evalue, tb))


def run_case(steps, payloads, timeout, reply_payloads):
    """Runs one case; each returned value is encoded as soon as its step ends (a later step may change it)."""
    results = []
    encoded = []
    for s, step in enumerate(steps):
        try:
            results.append(run_step(step, payloads, results, timeout))
            value = results[-1]
            if "pick" in step and isinstance(value, (tuple, list)) and len(value) > step["pick"]:
                value = value[step["pick"]]
            encoded.append(encode(value, reply_payloads) if step.get("return", True) else None)
        except CallTimeout:
            return {"status": "timeout", "step": s, "message": f"no answer within {timeout:g} s"}
        except NotFound as e:
            return {"status": "not-found", "step": s, "message": str(e)}
        except NotImplementedError as e:
            return {"status": "not-implemented", "step": s, "message": f"NotImplementedError {e}".strip()}
        except Exception as e:  # the student's exception, reported for this function
            return {"status": "error", "step": s, "message": f"{type(e).__name__}: {e}", "traceback": short_traceback()}
    return {"status": "ok", "values": encoded}


def import_modules(request):
    root = request["root"]
    if root not in sys.path:
        sys.path.insert(0, root)
    modules = {}
    for name in request["modules"]:
        try:
            importlib.import_module(name)
            modules[name] = {"status": "ok"}
        except ModuleNotFoundError as e:
            if e.name == name or (e.name and name.startswith(e.name + ".")):
                modules[name] = {"status": "not-found", "message": str(e)}
            else:
                modules[name] = {"status": "error", "message": f"{type(e).__name__}: {e}", "traceback": short_traceback()}
        except BaseException as e:  # a syntax error, an import-time exception or exit() in the student's module
            modules[name] = {"status": "error", "message": f"{type(e).__name__}: {e}", "traceback": short_traceback()}
    return {"modules": modules}


def main():
    write_frame({"ready": True, "python": sys.executable, "numpy": np.__version__})
    while True:
        try:
            request, payloads = read_frame()
        except EOFError:
            return
        op = request.get("op")
        if op == "quit":
            return
        if op == "import":
            write_frame(import_modules(request))
        elif op == "run":
            timeout = float(request["timeout"])
            out = []
            reply_payloads = []
            for i, steps in enumerate(request["cases"]):
                out.append(run_case(steps, payloads, timeout, reply_payloads))
                write_frame({"progress": i})
                if out[-1]["status"] == "timeout":
                    break
            write_frame({"results": out}, reply_payloads)
        else:
            write_frame({"error": f"unknown op {op!r}"})


if __name__ == "__main__":
    main()
