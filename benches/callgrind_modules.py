#!/usr/bin/env python3
"""The cost of one request per module, from a callgrind profile of the starter.

    python3 benches/callgrind_modules.py CALLGRIND_FILE REQUESTS [--top N] [--bucket MODULE]

`benches/load.sh` with INSTRUCTIONS=1 MODULES=1 runs it on each profile (KEEP=dir keeps them).
Every instruction is charged to one module: by the source file of the line that executed it (so
inlined code counts where it was written: build the starter with
CARGO_PROFILE_RELEASE_DEBUG=line-tables-only), else by the function's crate; out-of-line helpers
of the standard library (formatting, Vec growth, drop glue, ...) are charged to their callers in
proportion to the calls. malloc/free/realloc (glibc's or mimalloc's) are their own row
("allocation"), as are memcpy/memmove/memset; the SHA-256 compression function is its own row
too (valgrind hides SHA-NI from the program, so it runs sha2's software fallback there).
`--top N` lists the N costliest functions of each module (or of `--bucket MODULE` only).
"""
import re
import sys
from collections import defaultdict


def parse(path):
    """Self cost per (object, function, source file), inclusive cost and count per call edge,
    and the total, of a callgrind file (`--dump-instr=no`, the default)."""
    names = {"fl": {}, "fn": {}, "ob": {}}
    self_cost = defaultdict(int)  # (ob, fn, file) -> Ir
    calls = defaultdict(int)  # (caller fn, callee fn) -> inclusive Ir
    call_counts = defaultdict(int)
    totals = 0
    ob = fl = fi = fn = cfn = None
    pending_call = False

    def name(kind, rest):
        m = re.match(r"\((\d+)\)(?: (.*))?$", rest)
        if not m:
            return rest
        idx, text = m.group(1), m.group(2)
        table = names[kind]
        if text is not None:
            table[idx] = text
        return table.get(idx, "?" + idx)

    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            c = line[0]
            if c.isdigit() or c in "+-*":
                parts = line.split()
                cost = int(parts[1]) if len(parts) > 1 else 0
                if pending_call:
                    calls[(fn, cfn)] += cost
                    pending_call = False
                else:
                    self_cost[(ob, fn, fi or fl)] += cost
                continue
            key, _, rest = line.partition("=")
            if key == "ob":
                ob = name("ob", rest)
            elif key == "fl":
                fl = name("fl", rest)
                fi = None
            elif key in ("fi", "fe"):
                fi = name("fl", rest)
            elif key == "fn":
                fn = name("fn", rest)
                fi = None
            elif key == "cob":
                name("ob", rest)
            elif key in ("cfl", "cfi"):
                name("fl", rest)
            elif key == "cfn":
                cfn = name("fn", rest)
            elif key == "calls":
                pending_call = True
                call_counts[(fn, cfn)] += int(rest.split()[0])
            elif key in ("summary", "totals"):
                totals = int(rest.split()[0]) if rest.strip() else totals
            elif line.startswith("summary:") or line.startswith("totals:"):
                totals = int(line.split()[1])
    return self_cost, calls, call_counts, totals


ORDER = [
    "runtime (tokio, syscalls)",
    "connection (hyper, http)",
    "server (src/server)",
    "routing (axum, tower, route_table, starter routes)",
    "verifying layer (src/layer)",
    "verifier (src/signature, hmac, base64)",
    "SHA-256 compression (sha2 soft)",
    "service (src/service.rs, src/drone, starter)",
    "JSON (serde_json, models)",
    "logging (tracing, src/log.rs, tools log_format)",
    "metrics (src/metrics, prometheus)",
    "allocation (malloc, free)",
    "memcpy, memset",
    "other",
]

FILE_RULES = [
    (r"sha2-[^/]*/src/sha256/soft", "SHA-256 compression (sha2 soft)"),
    (r"/src/server/", "server (src/server)"),
    (r"/src/layer/", "verifying layer (src/layer)"),
    (r"/src/signature/|/hmac-|/sha2-|/digest-|/base64-|/constant_time_eq|/block-buffer|/httpdate-|/src/clock\.rs", "verifier (src/signature, hmac, base64)"),
    (r"/src/metrics/|/prometheus-client", "metrics (src/metrics, prometheus)"),
    (r"/src/log\.rs|/tracing|/nu-ansi-term|/sharded-slab|/common/src/log\.rs|/thread_local-|/matchers-|/regex", "logging (tracing, src/log.rs, tools log_format)"),
    (r"/serde_json-|/serde-|/serde_core-|/src/json\.rs|/src/models/|/itoa-|/ryu-|/memchr-", "JSON (serde_json, models)"),
    (r"/starter/src/routes\.rs", "routing (axum, tower, route_table, starter routes)"),
    (r"/starter/src/log_format\.rs|/common/src/log_format\.rs", "logging (tracing, src/log.rs, tools log_format)"),
    (r"/src/service\.rs|/src/drone/(?!router)|/starter/src/|/async-trait|/common/src/policy", "service (src/service.rs, src/drone, starter)"),
    (r"/axum-|/axum-core|/matchit-|/tower-|/tower-service|/tower-layer|/src/route_table\.rs|/src/drone/router\.rs|/http-body-util|/sync_wrapper", "routing (axum, tower, route_table, starter routes)"),
    (r"/hyper-|/hyper-util|/httparse-|/http-1|/http-body-|/bytes-|/want-|/atomic-waker|/futures-", "connection (hyper, http)"),
    (r"/tokio-|/mio-|/parking_lot|/socket2", "runtime (tokio, syscalls)"),
]

FN_RULES = [
    (r"^(_?mi_|mi_|_mi_|malloc|free|realloc|calloc|cfree|_int_malloc|_int_free|_int_realloc|malloc_consolidate|tcache_|_int_free_merge|unlink_chunk|__libc_malloc|__libc_free|__libc_realloc|alloc_perturb|sysmalloc|__rust_alloc|__rust_dealloc|__rust_realloc|__rdl_|arena_get2|int_mallinfo|checked_request2size)", "allocation (malloc, free)"),
    (r"^(__)?mem(cpy|move|set|cmp)|^__memcpy|^__memmove|^__memset|^__memcmp|^bcmp", "memcpy, memset"),
    (r"drone_extension::server", "server (src/server)"),
    (r"drone_extension::layer", "verifying layer (src/layer)"),
    (r"drone_extension::signature|^sha2::|^hmac::|^base64::|^digest::", "verifier (src/signature, hmac, base64)"),
    (r"drone_extension::metrics|prometheus_client", "metrics (src/metrics, prometheus)"),
    (r"^<?tracing|drone_extension::log|drone_extension_starter::log_format|nu_ansi_term|sharded_slab|drone_extension_tools_common::log", "logging (tracing, src/log.rs, tools log_format)"),
    (r"^<?serde_json|^<?serde::|drone_extension::json|drone_extension::models", "JSON (serde_json, models)"),
    (r"drone_extension::service|drone_extension::drone|drone_extension::(admission|global_secrets|secret|registry|environ|config|convert|validate|webhook)|drone_extension_starter", "service (src/service.rs, src/drone, starter)"),
    (r"^<?axum|^<?tower|matchit|drone_extension::route_table|drone_extension::router|drone_extension_starter::routes", "routing (axum, tower, route_table, starter routes)"),
    (r"^<?hyper|^<?http::|^<?httparse|^<?bytes::|^<?http_body", "connection (hyper, http)"),
    (r"^<?tokio|^<?mio|^epoll|^__GI_|^__libc_|^syscall|^__futex|^futex|^pthread|^__pthread|^clock_gettime|^__clock_gettime|^__vdso|^recv|^send|^__send|^__recv|^accept|^read$|^write$|^__read|^__write|^writev|^__writev|^epoll_wait|^_dl_|^__tls_get_addr|^sched_yield|^__lll_|^lll_|^__GI___", "runtime (tokio, syscalls)"),
]


def bucket_of(ob, fn, file):
    fn = fn or ""
    file = file or ""
    for pattern, bucket in FN_RULES[:2]:
        if re.search(pattern, fn):
            return bucket
    if re.search(r"sha2::sha256::soft", fn):
        return "SHA-256 compression (sha2 soft)"
    if "/library/" not in file and "/rustc/" not in file:
        for pattern, bucket in FILE_RULES:
            if re.search(pattern, file):
                return bucket
    if "/rustc/" in file or "/library/" in file or not file or file.startswith("???"):
        # std code: by the function it was inlined into, if that says which crate.
        for pattern, bucket in FN_RULES[2:]:
            if re.search(pattern, fn):
                return bucket
        return None  # a std helper: charged to its callers
    if ob and "libc" in ob:
        return "runtime (tokio, syscalls)"
    for pattern, bucket in FN_RULES[2:]:
        if re.search(pattern, fn):
            return bucket
    return None


def main():
    path, requests = sys.argv[1], int(sys.argv[2])
    top = int(sys.argv[sys.argv.index("--top") + 1]) if "--top" in sys.argv else 0
    show = sys.argv[sys.argv.index("--bucket") + 1] if "--bucket" in sys.argv else None
    self_cost, calls, _, total = parse(path)
    buckets = defaultdict(float)
    per_fn = defaultdict(float)  # (bucket, fn) -> cost
    unknown = defaultdict(float)  # fn -> self cost not yet charged
    for (ob, fn, file), cost in self_cost.items():
        b = bucket_of(ob, fn, file)
        if b is None:
            unknown[fn] += cost
        else:
            buckets[b] += cost
            per_fn[(b, fn)] += cost
    # Charge std helpers to their callers, in proportion to the inclusive cost of each call edge.
    callers = defaultdict(list)
    for (caller, callee), cost in calls.items():
        if caller != callee:
            callers[callee].append((caller, cost))
    fn_bucket = {}
    for (ob, fn, file) in self_cost:
        b = bucket_of(ob, fn, "") if fn else None
        if b:
            fn_bucket[fn] = b
    for _ in range(12):
        nxt = defaultdict(float)
        for fn, cost in unknown.items():
            edges = callers.get(fn, [])
            whole = sum(c for _, c in edges)
            if not edges or whole == 0:
                buckets["other"] += cost
                per_fn[("other", fn)] += cost
                continue
            for caller, c in edges:
                share = cost * c / whole
                b = fn_bucket.get(caller)
                if b:
                    buckets[b] += share
                    per_fn[(b, fn + "  [via " + caller[:60] + "]")] += share
                else:
                    nxt[caller] += share
        unknown = nxt
        if not unknown:
            break
    for fn, cost in unknown.items():
        buckets["other"] += cost
        per_fn[("other", fn)] += cost
    print(f"{'module':52} {'Ir/request':>10} {'share':>6}")
    for b in ORDER:
        v = buckets.get(b, 0) / requests
        print(f"{b:52} {v:10.0f} {100 * buckets.get(b, 0) / total:5.1f}%")
    print(f"{'total':52} {total / requests:10.0f}")
    if top:
        for b in ORDER:
            if show and b != show:
                continue
            items = sorted(((c, f) for (bb, f), c in per_fn.items() if bb == b), reverse=True)[:top]
            print(f"\n== {b}")
            for c, f in items:
                print(f"  {c / requests:8.0f}  {f[:170]}")


if __name__ == "__main__":
    main()
