#!/usr/bin/python3
"""A tiny RTSP camera for tests: GStreamer's RTSP server serving a video file in an endless loop.

Run with /usr/bin/python3. Debian packages: gir1.2-gst-rtsp-server-1.0 python3-gi
gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad (intervideosink/src)
gstreamer1.0-plugins-ugly (x264enc) gstreamer1.0-libav (avdec_h264 for decodebin).

    rtsp_server.py --file clip.mp4 [--port 8554] [--path /cam] [--fps 25]
    rtsp_server.py --silent [--port 8554]         # accepts TCP connections, never answers
    rtsp_server.py --file clip.mp4 --stall-after 3  # serves media for 3 s per session, then goes quiet

Once listening it prints exactly one line `READY rtsp://127.0.0.1:PORT/PATH` on stdout (with the
real port when --port 0 asks the kernel for one). It binds 127.0.0.1 only and exits 0 on SIGTERM
or SIGINT.

`multifilesrc loop=true ! decodebin` does not loop an MP4 whose moov atom sits after mdat (as in
utterance_1.mp4): qtdemux sees EOS after the first pass. So one producer pipeline decodes the file
in real time and seeks back to the start on EOS, handing raw frames to `intervideosink`; every
client session encodes from an `intervideosrc`, a live source that stamps frames with its own
clock, so timestamps stay monotonic across loops as a camera's would.
"""

import argparse
import os
import signal
import socket
import sys
import threading


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--port', type=int, default=8554, help='TCP port on 127.0.0.1 (0 = pick a free one)')
    p.add_argument('--path', default='/stream', help='mount path, e.g. /cam')
    p.add_argument('--file', help='video file to loop (required unless --silent)')
    p.add_argument('--fps', type=int, default=25, help='frame rate of the served stream')
    p.add_argument('--silent', action='store_true', help='accept connections but never send a byte')
    p.add_argument('--stall-after', type=float, default=0.0,
                   help='serve media for this many seconds per session, then stop sending RTP '
                        '(the RTSP session stays open: a hung camera)')
    args = p.parse_args()
    if not args.silent and not args.file:
        p.error('--file is required unless --silent')
    if args.file and not os.path.isfile(args.file):
        p.error(f'no such file: {args.file}')
    if not args.path.startswith('/'):
        args.path = '/' + args.path
    return args


def ready(port: int, path: str) -> None:
    # The test helper waits for this exact line; flush because stdout is a pipe.
    print(f'READY rtsp://127.0.0.1:{port}{path}', flush=True)


def run_silent(port: int, path: str) -> int:
    """A socket that accepts and then says nothing: the RTSP client waits for a reply forever."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(('127.0.0.1', port))
    srv.listen(16)
    stop = threading.Event()
    conns: list[socket.socket] = []

    def on_signal(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    srv.settimeout(0.2)
    ready(srv.getsockname()[1], path)
    while not stop.is_set():
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            continue
        except OSError:
            if stop.is_set():
                break
            raise
        # Keep the connection open and unread: the client's request sits in our receive buffer.
        conns.append(conn)
    for c in conns:
        c.close()
    srv.close()
    return 0


def run_rtsp(args: argparse.Namespace) -> int:
    import gi

    gi.require_version('Gst', '1.0')
    gi.require_version('GstRtspServer', '1.0')
    from gi.repository import GLib, Gst, GstRtspServer

    Gst.init(None)
    loop = GLib.MainLoop()
    channel = f'rtsp-{os.getpid()}'
    location = os.path.abspath(args.file).replace('\\', '\\\\').replace('"', '\\"')

    # The producer decodes the file in real time and hands raw frames to intervideosink. We own
    # its bus, so EOS can be answered with a seek back to the start: an endless loop.
    producer = Gst.parse_launch(
        f'filesrc location="{location}" ! decodebin ! videoconvert ! videorate '
        f'! video/x-raw,format=I420,framerate={args.fps}/1 ! intervideosink channel={channel} sync=true'
    )
    failure: list[str] = []

    def on_producer_message(_bus: Gst.Bus, msg: Gst.Message) -> bool:
        if msg.type == Gst.MessageType.EOS:
            if not producer.seek_simple(Gst.Format.TIME, Gst.SeekFlags.FLUSH | Gst.SeekFlags.KEY_UNIT, 0):
                failure.append('seek back to the start failed')
                loop.quit()
        elif msg.type == Gst.MessageType.ERROR:
            err, debug = msg.parse_error()
            failure.append(f'{err.message} ({debug})')
            loop.quit()
        return True

    bus = producer.get_bus()
    bus.add_signal_watch()
    bus.connect('message', on_producer_message)

    # Each client session gets its own encoder fed by intervideosrc, a live source that stamps
    # frames with its own clock: timestamps stay monotonic across the producer's loops.
    # `valve name=quiet` lets --stall-after cut the RTP flow while the session stays up.
    launch = (
        f'( intervideosrc channel={channel} timeout=18446744073709551615 '
        f'! video/x-raw,framerate={args.fps}/1 ! videoconvert ! valve name=quiet drop=false '
        f'! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={args.fps} '
        f'! rtph264pay name=pay0 pt=96 config-interval=1 )'
    )
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch)
    factory.set_shared(False)
    if args.stall_after > 0:
        def on_configure(_factory: GstRtspServer.RTSPMediaFactory, media: GstRtspServer.RTSPMedia) -> None:
            valve = media.get_element().get_by_name('quiet')

            def go_quiet() -> bool:
                valve.set_property('drop', True)
                return False

            GLib.timeout_add(int(args.stall_after * 1000), go_quiet)

        factory.connect('media-configure', on_configure)

    server = GstRtspServer.RTSPServer()
    server.set_address('127.0.0.1')
    server.set_service(str(args.port))
    server.get_mount_points().add_factory(args.path, factory)
    if server.attach(None) == 0:
        print(f'cannot listen on 127.0.0.1:{args.port}', file=sys.stderr, flush=True)
        return 1

    # Wait until the producer really plays (the file decodes) before announcing readiness.
    producer.set_state(Gst.State.PLAYING)
    change, _state, _pending = producer.get_state(10 * Gst.SECOND)
    if change == Gst.StateChangeReturn.FAILURE or failure:
        msg = bus.timed_pop_filtered(0, Gst.MessageType.ERROR)
        detail = msg.parse_error()[0].message if msg else '; '.join(failure)
        print(f'cannot play {args.file}: {detail}', file=sys.stderr, flush=True)
        producer.set_state(Gst.State.NULL)
        return 1

    def on_signal() -> bool:
        loop.quit()
        return False

    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, on_signal)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, on_signal)
    ready(server.get_bound_port(), args.path)
    loop.run()
    producer.set_state(Gst.State.NULL)
    if failure:
        print(f'producer failed: {failure[0]}', file=sys.stderr, flush=True)
        return 1
    return 0


def main() -> int:
    args = parse_args()
    if args.silent:
        return run_silent(args.port, args.path)
    return run_rtsp(args)


if __name__ == '__main__':
    sys.exit(main())
