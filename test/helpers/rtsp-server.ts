export { startRtspServer, type RtspServer, type RtspServerOptions } from '../../src/bench/rtsp-test-server.js';
