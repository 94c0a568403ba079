export { startRtspServer, type RtspServer, type RtspServerOptions } from '../../src/bench/harness/rtsp-test-server.js';
