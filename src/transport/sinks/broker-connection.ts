/** One live connection to a broker, as an event sink uses it. */
export interface BrokerConnection {
  /**
   * Publishes one message and resolves once the broker has taken responsibility for it (MQTT
   * PUBACK/PUBCOMP at QoS ≥ 1, JetStream PubAck, Redis XADD reply); rejects otherwise.
   */
  publish(topic: string, payload: string, id: string): Promise<void>;
  /** Resolves (with the reason) when the connection is lost; never rejects. */
  readonly lost: Promise<Error>;
  /** Closes the connection; idempotent. */
  close(): Promise<void>;
}

/** Opens a connection; rejects with a clear error (bad URL, refused, wrong credentials, timeout). */
export type BrokerConnector = (signal: AbortSignal) => Promise<BrokerConnection>;
