import { serveRpc } from '../worker-rpc.js';
import { echoService } from './echo-service.js';

serveRpc(echoService);
