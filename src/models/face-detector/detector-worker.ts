/** Worker-thread entry of the face models: detection runs on its own core. */
import { serveRpc } from '../runtime/worker-rpc.js';
import { detectorService } from './detector-service.js';

serveRpc(detectorService);
