import { serveRpc } from '../../../src/models/runtime/worker-rpc.js';
import { echoService } from './echo-service.js';

serveRpc(echoService);
