import { redactUrl } from '../../streams/redact-url.js';

/**
 * Hides credentials in a broker URL exactly as camera URLs are hidden: the user-info up to the
 * last `@` of the authority, and credential parameters in the query.
 */
export function redactBrokerUrl(url: string): string {
  return redactUrl(url);
}
