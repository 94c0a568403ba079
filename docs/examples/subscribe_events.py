#!/usr/bin/env python3
"""Prints the daemon's events, one line each (docs/api.md). Token from DAEMON_TOKEN.

    python3 subscribe_events.py 'ws://127.0.0.1:8080/v1/events?types=faces,affect' [count]
"""
import asyncio
import json
import os
import sys

import websockets  # Debian: apt-get install python3-websockets; elsewhere: pip install websockets


async def main(url: str, count: int) -> None:
    token = os.environ.get("DAEMON_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    # websockets 14 renamed extra_headers to additional_headers.
    key = "additional_headers" if int(websockets.__version__.split(".")[0]) >= 14 else "extra_headers"
    async with websockets.connect(url, **{key: headers}) as ws:
        seen = 0
        async for message in ws:
            event = json.loads(message)  # one event per message: docs/api/events/<type>.schema.json
            if event["type"] == "affect":
                print(event["streamId"], event["trackId"], event["expr"]["label"], flush=True)
            else:
                print(event["streamId"], event["type"], flush=True)
            seen += 1
            if seen == count:
                return


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 0))
