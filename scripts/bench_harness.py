"""What the root benchmark scripts (bench_daemon.py, bench_registrations.py) share: errors,
logging, commands, and the run that turns a bench() into BENCH lines — skipped with a reason,
interrupted cleanly by a signal (the clean-up in bench() still runs), or written out.
"""
import signal
import subprocess


class BenchError(Exception):
    """Something in the set-up or a measurement failed: the BENCH lines become ERROR lines."""


class Interrupted(BaseException):
    """SIGTERM/SIGINT/SIGHUP while running: unwinds through the clean-up like an error."""


def make_log(name):
    def log(message):
        print(f"{name}: {message}", flush=True)
    return log


def run(*command, check=True, timeout=60, stdin=None):
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, input=stdin)
    if check and done.returncode != 0:
        raise BenchError(f"{' '.join(command)}: exit {done.returncode}: {done.stderr.strip()}")
    return done.stdout


def write_lines(lines, path):
    for line in lines:
        print(line)
    if path:
        with open(path, "w") as f:
            f.write("".join(f"{line}\n" for line in lines))


def run_bench(name, bench, skip_reason, bench_out):
    """Runs bench() -> (lines, problems) and writes its lines to stdout and `bench_out`.
    Returns the exit status: 0, or 1 when there were problems or a signal came."""
    log = make_log(name)
    if bench_out:
        open(bench_out, "w").close()  # no stale figures if this run skips or fails
    if skip_reason:
        write_lines([f"SKIP {name}: {skip_reason}"], bench_out)
        return 0

    def interrupted(signal_number, _frame):
        raise Interrupted(signal.Signals(signal_number).name)

    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, interrupted)
    try:
        lines, problems = bench()
    except Interrupted as e:
        log(f"interrupted by {e}; namespaces removed")
        return 1
    for problem in problems:
        log(f"problem: {problem}")
    write_lines(lines, bench_out)
    return 1 if problems else 0
