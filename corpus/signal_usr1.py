# Checks a custom SIGUSR1 handler with the script signalling itself, and the default signal dispositions.
import os
import signal

received = []


def handler(signum, frame):
    received.append((signal.Signals(signum).name, frame.f_code.co_name))


def show(sig):
    h = signal.getsignal(sig)
    if h is signal.default_int_handler:
        h = "default_int_handler"
    print(sig.name, h)


for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE, signal.SIGXFSZ, signal.SIGUSR1,
            signal.SIGHUP, signal.SIGCHLD, signal.SIGALRM, signal.SIGSEGV):
    show(sig)
signal.signal(signal.SIGUSR1, handler)
os.kill(os.getpid(), signal.SIGUSR1)
print("after kill:", received)
signal.raise_signal(signal.SIGUSR1)
print("after raise_signal:", received)
print("blocked:", sorted(s.name for s in signal.pthread_sigmask(signal.SIG_BLOCK, [])))
with open("/proc/self/status") as f:
    for line in f:
        if line.startswith(("SigBlk", "SigIgn")):
            print(line.strip())
