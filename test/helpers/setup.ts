import '../../src/core/polyfills.js';
import { afterAll, afterEach } from 'vitest';
import { takeContractViolations } from './contract-violations.js';

// A received event that breaks its committed schema or arrives where the AsyncAPI channel does not
// put it (recorded by the hooks of event-contract.ts and asyncapi-contract.ts)
// fails the test it arrived during, or the file when it arrived after the last test.
const failOnContractViolations = (): void => {
  const found = takeContractViolations();
  if (found.length > 0) throw new Error(`${found.length} event(s) broke the committed contracts (docs/api/events/, the channels of docs/api/asyncapi.json):\n${found.slice(0, 5).join('\n')}`);
};
afterEach(failOnContractViolations);
afterAll(failOnContractViolations);
