/** Every metric the daemon exports; dashboards may only query names listed here. */
export const MetricNames = {
  framesDecoded: 'va_frames_decoded_total',
  framesAnalysed: 'va_frames_analysed_total',
  framesDropped: 'va_frames_dropped_total',
  decodeDuration: 'va_decode_duration_seconds',
  detectDuration: 'va_detection_duration_seconds',
  facesPerFrame: 'va_faces_per_frame',
  activeTracks: 'va_active_tracks',
  tracksStarted: 'va_tracks_started_total',
  streamState: 'va_stream_state',
  streamErrors: 'va_stream_errors_total',
  backendInfo: 'va_backend_info',
  wsClients: 'va_ws_clients',
  wsMessagesSent: 'va_ws_messages_sent_total',
  wsMessagesDropped: 'va_ws_messages_dropped_total',
  tensorsAlive: 'va_tensors_alive',
} as const;
