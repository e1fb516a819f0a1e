"""RFC 6455 as the server speaks it on GET /v1/ws, over real sockets: fragmented and split
frames, control frames, the close handshake and its codes for each malformed frame, the
message size bound at its edge, and the close a draining server sends. (ws_test.py covers
the API's messages; this covers the framing under them.)

Usage: ws_protocol_test.py PATH_TO_STAMPEDE
"""
import json
import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Server, ServerTest, WebSocket  # noqa: E402

PING = json.dumps({"op": "ping"}).encode()


def close_code(payload):
    return int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None


class WsProtocol(ServerTest):
    server_args = ("--shards", "2", "--rate-limit", "0")

    def ws(self):
        w = WebSocket(self.server.port)
        self.addCleanup(w.sock.close)
        self.assertEqual(w.status, 101, w.response_head)
        return w

    def assert_closed_with(self, w, code):
        """The next frame is a close with `code`, and then the server ends the connection."""
        opcode, payload = w.recv_frame()
        self.assertEqual(opcode, 0x8, payload)
        self.assertEqual(close_code(payload), code, payload)
        with self.assertRaises((ConnectionError, OSError)):
            w.recv_frame()

    def assert_server_alive(self):
        w = self.ws()
        w.send({"op": "ping"})
        self.assertEqual(w.recv(), {"type": "pong"})

    # ---- what the server reads ----

    def test_a_message_in_fragments_with_a_ping_between_is_answered_whole(self):
        w = self.ws()
        w.send_frame(0x1, PING[:3], fin=False)
        w.send_frame(0x9, b"between")
        w.send_frame(0x0, PING[3:7], fin=False)
        w.send_frame(0x0, PING[7:])
        self.assertEqual(w.recv_frame(), (0xA, b"between"))  # the ping's answer may come first
        self.assertEqual(w.recv(), {"type": "pong"})

    def test_a_ping_frame_is_answered_with_a_pong_of_the_same_payload(self):
        w = self.ws()
        w.send_frame(0x9, b"\x00\x01hello")
        self.assertEqual(w.recv_frame(), (0xA, b"\x00\x01hello"))

    def test_a_frame_sent_a_byte_at_a_time_is_read_whole(self):
        w = self.ws()
        w.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        frame = bytes([0x81, 0x80 | len(PING)]) + b"\x00\x00\x00\x00" + PING  # a zero mask
        for b in frame:
            w.sock.sendall(bytes([b]))
            time.sleep(0.002)
        self.assertEqual(w.recv(), {"type": "pong"})

    def test_messages_sent_together_are_all_answered_in_order(self):
        w = self.ws()
        frames = []
        for body in (PING, b'{"op": "dance"}', PING):
            mask = os.urandom(4)
            frames.append(bytes([0x81, 0x80 | len(body)]) + mask + bytes(c ^ mask[i % 4] for i, c in enumerate(body)))
        w.sock.sendall(b"".join(frames))
        self.assertEqual(w.recv(), {"type": "pong"})
        self.assertEqual(w.recv()["code"], "invalid_request")
        self.assertEqual(w.recv(), {"type": "pong"})

    def test_more_requests_at_once_than_the_queue_holds_are_each_answered(self):
        # Found from outside: of 200 pings in one write only 64 pongs came (the queue's bound
        # dropped the rest). Reading now waits while the replies fill the queue.
        w = self.ws()
        frames = []
        for i in range(1000):
            body = PING if i % 2 == 0 else b'{"op": "dance"}'
            mask = os.urandom(4)
            frames.append(bytes([0x81, 0x80 | len(body)]) + mask + bytes(c ^ mask[k % 4] for k, c in enumerate(body)))
        w.sock.sendall(b"".join(frames))
        for i in range(1000):
            m = w.recv(timeout=10)
            if i % 2 == 0:
                self.assertEqual(m, {"type": "pong"}, i)
            else:
                self.assertEqual(m.get("code"), "invalid_request", (i, m))
        w.send({"op": "ping"})
        self.assertEqual(w.recv(), {"type": "pong"})

    def test_a_message_of_exactly_4_KiB_is_read_and_one_byte_more_closes_with_1009(self):
        w = self.ws()
        w.send(PING[:-1] + b" " * (4096 - len(PING)) + b"}")
        self.assertEqual(w.recv(), {"type": "pong"})
        w.send(PING[:-1] + b" " * (4097 - len(PING)) + b"}")
        self.assert_closed_with(w, 1009)

    # ---- the close handshake ----

    def test_a_close_is_answered_with_its_code_and_then_the_connection_ends(self):
        w = self.ws()
        w.send_frame(0x8, (4000).to_bytes(2, "big") + b"done here")
        self.assert_closed_with(w, 4000)

    def test_a_close_without_a_code_is_answered_with_a_close_and_the_end(self):
        w = self.ws()
        w.send_frame(0x8, b"")
        opcode, payload = w.recv_frame()
        self.assertEqual(opcode, 0x8)
        self.assertIn(close_code(payload), (None, 1000))  # no code to echo: none, or "normal"
        with self.assertRaises((ConnectionError, OSError)):
            w.recv_frame()

    def test_each_malformed_frame_closes_its_connection_with_its_code(self):
        cases = [
            ("unmasked", lambda w: w.send_frame(0x1, PING, mask=False), 1002),
            ("reserved opcode", lambda w: w.send_frame(0x3, b"x"), 1002),
            ("RSV1 without an extension", lambda w: w.sock.sendall(b"\xc1\x80\x00\x00\x00\x00"), 1002),
            ("a fragmented ping", lambda w: w.send_frame(0x9, b"x", fin=False), 1002),
            ("a continuation first", lambda w: w.send_frame(0x0, b"x"), 1002),
            ("a 1-byte close", lambda w: w.send_frame(0x8, b"\x03"), 1002),
            ("close code 1005", lambda w: w.send_frame(0x8, (1005).to_bytes(2, "big")), 1002),
            ("text that is not UTF-8", lambda w: w.send_frame(0x1, b'{"op": "\xff"}'), 1007),
            ("a 16-bit length under 126", lambda w: w.sock.sendall(b"\x81\xfe\x00\x05\x00\x00\x00\x00hello"), 1002),
            ("over 4 KiB in fragments", lambda w: (w.send_frame(0x1, b" " * 4000, fin=False),
                                                   w.send_frame(0x0, b" " * 100)), 1009),
        ]
        for what, act, code in cases:
            with self.subTest(what):
                w = self.ws()
                act(w)
                self.assert_closed_with(w, code)
        self.assert_server_alive()

    def test_an_oversized_frame_is_refused_from_its_header_before_its_payload(self):
        w = self.ws()
        w.sock.sendall(b"\x81\xff" + (1 << 40).to_bytes(8, "big") + b"\x00\x00\x00\x00")  # a terabyte announced
        self.assert_closed_with(w, 1009)
        self.assert_server_alive()


class WsDrain(unittest.TestCase):
    binary = None

    def test_a_draining_server_closes_each_websocket_with_going_away(self):
        server = Server(self.binary, "--shards", "2")
        try:
            w = WebSocket(server.port)
            self.assertEqual(w.status, 101)
            w.send({"op": "ping"})
            self.assertEqual(w.recv(), {"type": "pong"})
            server.proc.terminate()
            opcode, payload = w.recv_frame()
            self.assertEqual((opcode, close_code(payload)), (0x8, 1001))
            w.send_frame(0x8, payload[:2])  # the client's half of the handshake
            self.assertEqual(server.proc.wait(10), 0)
        finally:
            if server.proc.poll() is None:
                server.proc.kill()
            server.stop()


if __name__ == "__main__":
    WsDrain.binary = ServerTest.binary = sys.argv.pop(1)
    unittest.main(verbosity=1)
