import type { StreamState } from '../core/records.js';
import type { DecoderReport, SourceSpec } from '../streams/open-source.js';

/** A stream as the API shows it. */
export interface StreamInfo {
  readonly id: string;
  readonly url: string;
  readonly kind: SourceSpec['kind'] | 'unknown';
  readonly realtime: boolean;
  readonly loop: boolean;
  readonly origin: 'config' | 'api';
  readonly state: Exclude<StreamState, 'removed'>;
  readonly error?: { readonly code: string; readonly message: string };
  readonly createdAt: string;
  readonly framesDecoded: number;
  readonly framesAnalysed: number;
  readonly framesDropped: number;
  readonly activeTracks: number;
  readonly reconnects: number;
  readonly width?: number;
  readonly height?: number;
  /** The decoder of the source's latest open: `decoder` is `software` or the hardware device type. */
  readonly decoder?: DecoderReport;
}
