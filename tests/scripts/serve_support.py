"""Starting and stopping `tickflow serve` in script tests: loopback only, a free port, a
bounded wait for /health, and a stop that always happens (also when a check fails).

    with Server(tickflow, ["--max-symbols", "3"]) as server:
        status, body = server.request("GET", "/health")
"""
import http.client
import json
import os
import signal
import socket
import subprocess
import time

HOST = "127.0.0.1"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, tickflow, args=(), port=None, preexec_fn=None, wait=True):
        self.port = port or free_port()
        self.command = [tickflow, "serve", "--host", HOST, "--port", str(self.port), *args]
        self.preexec_fn = preexec_fn
        self.wait = wait
        self.process = None
        self.stderr = ""
        self.connection = None

    def __enter__(self):
        self.process = subprocess.Popen(self.command, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, preexec_fn=self.preexec_fn)
        if self.wait:
            self.wait_until_up()
        return self

    def wait_until_up(self, seconds=20):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("server exited at start-up: " + self.finish_stderr())
            try:
                status, _ = self.request("GET", "/health", fresh=True)
                if status == 200:
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("server did not answer /health in time")

    def request(self, method, path, body=None, headers=None, fresh=False):
        """One request on the kept-alive connection (reopened when the server closed it)."""
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        for attempt in (0, 1):
            if self.connection is None or fresh:
                if self.connection is not None:
                    self.connection.close()
                self.connection = http.client.HTTPConnection(HOST, self.port, timeout=30)
            try:
                self.connection.request(method, path, body=body, headers=headers or {})
                response = self.connection.getresponse()
                data = response.read()
                self.last_headers = dict(response.getheaders())
                return response.status, data
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.connection.close()
                self.connection = None
                if attempt == 1:
                    raise
        raise AssertionError("unreachable")

    def json(self, method, path, body=None):
        status, data = self.request(method, path, body)
        try:
            return status, json.loads(data)
        except ValueError:
            return status, {"not json": data[:200].decode("utf-8", "replace")}

    def stop(self, sig=signal.SIGTERM, seconds=30):
        """Sends `sig` and waits for the exit; returns the exit code."""
        if self.connection is not None:
            self.connection.close()
            self.connection = None
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=seconds)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.finish_stderr()
        return self.process.returncode

    def finish_stderr(self):
        if self.process.poll() is not None and self.process.stderr and not self.process.stderr.closed:
            self.stderr += self.process.stderr.read().decode("utf-8", "replace")
            self.process.stderr.close()
        return self.stderr

    def __exit__(self, *exc):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.finish_stderr()
        return False


def run_to_exit(tickflow, args, seconds=20):
    """Runs `tickflow serve ARGS` that is expected to exit by itself (an error at start-up)."""
    try:
        r = subprocess.run([tickflow, "serve", "--host", HOST, *args], capture_output=True,
                           timeout=seconds)
        return r.returncode, r.stderr.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        return None, "did not exit"
