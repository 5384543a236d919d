"""Recording encryption at rest (scripts/bench recordings; issue 11, Performance).

Writes a 1-hour 8 kHz and a 1-hour 16 kHz stereo 16-bit WAV (115 MB and 230 MB) in a
temporary folder, then measures, each operation in its own child process (so its peak
RSS is its own: `ru_maxrss`, and the RSS growth during the operation):
* floor: `shutil.copyfile` of the same file (the kernel's copy, no user-space pass), and
  a Python read/write copy in 64 KiB blocks (the floor for anything that touches the bytes);
* ceiling: pyrage.encrypt_io / decrypt_io file -> file alone (no SHA-256, no wrappers):
  what the library can do here, whatever we wrap around it;
* encrypt: recordings.crypto.encrypt_stream (age via pyrage, plaintext SHA-256 on the way)
  file -> file, what the recorder does when a call ends;
* decrypt: recordings.crypto.decrypt_stream file -> file (what `recordings get` does);
* verify: decrypt_stream to nothing (the retention/verify path);
* playback: recordings.playback.plaintext, decrypted in a worker thread into a pipe read
  by a greenlet (the web's path), every byte consumed.
Operations alternate within each round; the median of `--repeat` rounds is reported.
MB/s counts plaintext bytes (1 MB = 10^6 bytes). Goals: >= 500 MB/s, peak < 50 MB.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

OPERATIONS = ("copy", "copy-py", "pyrage-encrypt", "encrypt", "pyrage-decrypt", "decrypt", "verify", "playback")
LABELS = {"copy": "floor: shutil.copyfile", "copy-py": "floor: Python 64 KiB read/write copy",
          "pyrage-encrypt": "ceiling: pyrage.encrypt_io alone (file -> .age)",
          "pyrage-decrypt": "ceiling: pyrage.decrypt_io alone (.age -> file)",
          "encrypt": "encrypt_stream (file -> .age)", "decrypt": "decrypt_stream (.age -> file)",
          "verify": "decrypt_stream to nothing (verify)", "playback": "playback.plaintext (thread + pipe)"}
ENV_IDENTITY = "SENTRAL_BENCH_IDENTITY"


def write_wav(path: pathlib.Path, rate: int, seconds: float, channels: int = 2) -> int:
    """A PCM WAV of noise (encryption cost does not depend on the content); returns its size."""
    data_size = int(rate * seconds) * channels * 2
    header = b"RIFF" + struct.pack("<I", 36 + data_size) + b"WAVE" + b"fmt " + struct.pack(
        "<IHHIIHH", 16, 1, channels, rate, rate * channels * 2, channels * 2, 16) + b"data" + struct.pack("<I", data_size)
    block = os.urandom(1 << 20)
    with open(path, "wb") as out:
        out.write(header)
        left = data_size
        while left:
            out.write(block[:min(left, len(block))])
            left -= min(left, len(block))
    return path.stat().st_size


def _rss_kb() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def child(op: str, src: str, dst: str) -> None:
    """One operation in this fresh process; prints one JSON line."""
    import resource

    import pyrage
    from pyrage import x25519

    from recordings import crypto, playback  # imported before the clock starts
    from recordings.storage import LocalStorage

    identity = x25519.Identity.from_str(os.environ[ENV_IDENTITY])
    recipient = str(identity.to_public())
    if op == "playback":
        storage = LocalStorage(pathlib.Path(src).parent)
        import gevent  # noqa: F401  (hub started before the clock)
    before_peak, before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, _rss_kb()
    start = time.perf_counter()
    if op == "copy":
        shutil.copyfile(src, dst)
    elif op == "copy-py":
        with open(src, "rb") as fin, open(dst, "wb") as fout:
            for block in iter(lambda: fin.read(1 << 16), b""):
                fout.write(block)
    elif op == "pyrage-encrypt":
        with open(src, "rb") as fin, open(dst, "wb") as fout:
            pyrage.encrypt_io(fin, fout, [identity.to_public()])
    elif op == "pyrage-decrypt":
        with open(src, "rb") as fin, open(dst, "wb") as fout:
            pyrage.decrypt_io(fin, fout, [identity])
    elif op == "encrypt":
        with open(src, "rb") as fin, open(dst, "wb") as fout:
            crypto.encrypt_stream(fin, fout, [recipient])
    elif op == "decrypt":
        with open(src, "rb") as fin, open(dst, "wb") as fout:
            crypto.decrypt_stream(fin, fout, [identity])
    elif op == "verify":
        with open(src, "rb") as fin:
            crypto.decrypt_stream(fin, None, [identity])
    elif op == "playback":
        total = sum(len(piece) for piece in playback.plaintext(storage, pathlib.Path(src).name, identity))
        assert total > 0
    else:
        raise SystemExit(f"unknown operation {op}")
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "peak_kb": peak, "before_kb": before, "before_peak_kb": before_peak}))


def run_child(op: str, src: pathlib.Path, dst: pathlib.Path, identity: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "_child", op, str(src), str(dst)], capture_output=True,
                         text=True, env=dict(os.environ, **{ENV_IDENTITY: identity}), check=False)
    if out.returncode != 0:
        raise SystemExit(f"{op} failed:\n{out.stdout}{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(wav: pathlib.Path, folder: pathlib.Path, identity: str, repeat: int) -> dict[str, list[dict]]:
    enc = folder / (wav.name + ".age")
    runs: dict[str, list[dict]] = {op: [] for op in OPERATIONS}
    for _ in range(repeat):
        for op in OPERATIONS:
            src = enc if op in ("pyrage-decrypt", "decrypt", "verify", "playback") else wav
            dst = enc if op == "encrypt" else folder / "out.bin"  # encrypt's file serves the decryptions
            runs[op].append(run_child(op, src, dst, identity))
            if dst.name == "out.bin":
                dst.unlink(missing_ok=True)
    enc.unlink()
    return runs


def table(results: dict[str, tuple[int, dict[str, list[dict]]]]) -> list[str]:
    lines = ["| file | operation | MB/s | vs shutil copy | vs Python copy | peak RSS MB | RSS growth MB |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for name, (size, runs) in results.items():
        speed = {op: size / 1e6 / statistics.median(r["seconds"] for r in rs) for op, rs in runs.items()}
        for op in OPERATIONS:
            peak = max(r["peak_kb"] for r in runs[op]) / 1024
            growth = max(r["peak_kb"] - r["before_kb"] for r in runs[op]) / 1024
            lines.append(f"| {name} | {LABELS[op]} | {speed[op]:,.0f} | {speed[op] / speed['copy']:.2f}x | "
                         f"{speed[op] / speed['copy-py']:.2f}x | {peak:.1f} | {growth:.1f} |")
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3600, help="length of each WAV (default 3600: one hour)")
    ap.add_argument("--rates", default="8000,16000", help="sample rates, comma separated (default 8000,16000)")
    ap.add_argument("--repeat", type=int, default=3, help="rounds; the median is reported (default 3)")
    ap.add_argument("--dir", help="folder for the files (default: a temporary one, removed after)")
    args = ap.parse_args(argv)
    from pyrage import x25519

    identity = str(x25519.Identity.generate())
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{platform.platform()}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="bench-rec-") as tmp:
        folder, results = pathlib.Path(tmp), {}
        for rate in (int(r) for r in args.rates.split(",")):
            wav = folder / f"{rate // 1000}k-stereo.wav"
            size = write_wav(wav, rate, args.seconds)
            length = f"{args.seconds / 3600:g} h" if args.seconds >= 3600 else f"{args.seconds:g} s"
            name = f"{length} {rate // 1000} kHz stereo ({size / 1e6:,.1f} MB)"
            print(f"{name}: {args.repeat} rounds of {', '.join(OPERATIONS)}", flush=True)
            results[name] = (size, measure(wav, folder, identity, args.repeat))
            wav.unlink()
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print()
    print("\n".join(table(results)))
    print()
    crypt = [size / 1e6 / statistics.median(r["seconds"] for r in runs[op])
             for size, runs in results.values() for op in ("encrypt", "decrypt")]
    peaks = [r["peak_kb"] / 1024 for _, runs in results.values() for rs in runs.values() for r in rs]
    print(f"Goal >= 500 MB/s encrypt and decrypt: {'met' if min(crypt) >= 500 else '**not met**'} "
          f"(slowest {min(crypt):,.0f} MB/s)")
    print(f"Goal peak memory < 50 MB: {'met' if max(peaks) < 50 else '**not met**'} (highest {max(peaks):.1f} MB)")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_child":
        child(*sys.argv[2:5])
    else:
        raise SystemExit(main())
