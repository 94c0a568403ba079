/** Worker-thread entry of the affect models: they run on their own core. */
import { serveRpc } from '../runtime/worker-rpc.js';
import { affectService } from './affect-service.js';

serveRpc(affectService);
