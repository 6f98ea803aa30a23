{{/*
The container's environment, shared by the Deployment and the migration Job
(the migration reads the same configuration and refuses the same bad values).
One variable per setting of apps/server/src/config.ts; the parity test
(apps/server/test/helm-parity.test.ts) reads this file.
*/}}
{{- define "sortie-recording.env" -}}
# Fixed by the chart: production refuses demo mode (SORTIE_DEMO is never set here).
- name: NODE_ENV
  value: "production"
- name: SORTIE_VIDEO_RECORDING_ENABLED
  value: {{ .Values.recording.enabled | quote }}
- name: SORTIE_RECORDING_STORAGE_BACKEND
  value: {{ .Values.recording.storageBackend | quote }}
- name: SORTIE_RECORDING_STORAGE_PATH
  value: {{ .Values.recording.storagePath | quote }}
- name: SORTIE_RECORDING_MAX_SIZE_MB
  value: {{ .Values.recording.maxSizeMB | quote }}
- name: SORTIE_RECORDING_RETENTION_DAYS
  value: {{ .Values.recording.retentionDays | quote }}
- name: SORTIE_RECORDING_S3_BUCKET
  value: {{ .Values.recording.s3.bucket | quote }}
- name: SORTIE_RECORDING_S3_REGION
  value: {{ .Values.recording.s3.region | quote }}
- name: SORTIE_RECORDING_S3_ENDPOINT
  value: {{ .Values.recording.s3.endpoint | quote }}
- name: SORTIE_RECORDING_S3_PREFIX
  value: {{ .Values.recording.s3.prefix | quote }}
- name: SORTIE_RECORDING_S3_SSE
  value: {{ .Values.s3Encryption.sse | quote }}
- name: SORTIE_RECORDING_S3_SSE_KMS_KEY_ID
  value: {{ .Values.s3Encryption.kmsKeyId | quote }}
- name: SORTIE_RECORDING_FRAME_RATE
  value: {{ .Values.capture.frameRate | quote }}
- name: SORTIE_RECORDING_VIDEO_BITRATE_KBPS
  value: {{ .Values.capture.videoBitrateKbps | quote }}
- name: SORTIE_RECORDING_ABANDONED_AFTER_MINUTES
  value: {{ .Values.abandonedAfterMinutes | quote }}
- name: SORTIE_RECORDING_MAX_OPEN_PER_USER
  value: {{ .Values.limits.maxOpenPerUser | quote }}
- name: SORTIE_RECORDING_MAX_RESERVED_MB_PER_USER
  value: {{ .Values.limits.maxReservedMBPerUser | quote }}
- name: SORTIE_RECORDING_MAX_MARKER_KB_PER_USER
  value: {{ .Values.limits.maxMarkerKBPerUser | quote }}
- name: SORTIE_RECORDING_MIN_FREE_MB
  value: {{ .Values.limits.minFreeMB | quote }}
- name: SORTIE_UPLOAD_MAX_CONCURRENT
  value: {{ .Values.uploads.maxConcurrent | quote }}
- name: SORTIE_UPLOAD_MAX_CONCURRENT_PER_USER
  value: {{ .Values.uploads.maxConcurrentPerUser | quote }}
- name: SORTIE_UPLOAD_IDLE_TIMEOUT_SECONDS
  value: {{ .Values.uploads.idleTimeoutSeconds | quote }}
- name: SORTIE_UPLOAD_MIN_BYTES_PER_SECOND
  value: {{ .Values.uploads.minBytesPerSecond | quote }}
- name: SORTIE_HTTP_HEADERS_TIMEOUT_SECONDS
  value: {{ .Values.http.headersTimeoutSeconds | quote }}
- name: SORTIE_HTTP_BODY_TIMEOUT_SECONDS
  value: {{ .Values.http.bodyTimeoutSeconds | quote }}
- name: SORTIE_PUBLIC_URL
  value: {{ .Values.publicUrl | quote }}
- name: SORTIE_CORS_ORIGINS
  value: {{ join "," .Values.corsOrigins | quote }}
- name: SORTIE_AUTH_JWKS_URL
  value: {{ .Values.auth.jwksUrl | quote }}
{{- if .Values.auth.existingSecret }}
- name: SORTIE_AUTH_JWT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ .Values.auth.existingSecret }}
      key: {{ .Values.auth.existingSecretKey }}
{{- end }}
{{- if .Values.seal.existingSecret }}
- name: SORTIE_SEAL_PRIVATE_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .Values.seal.existingSecret }}
      key: {{ .Values.seal.existingSecretKey }}
{{- end }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.database.existingSecret }}
      key: {{ .Values.database.existingSecretKey }}
{{- if .Values.s3Credentials.existingSecret }}
# Read by the AWS SDK's default credential chain, not by config.ts.
- name: AWS_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ .Values.s3Credentials.existingSecret }}
      key: {{ .Values.s3Credentials.accessKeyIdKey }}
- name: AWS_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .Values.s3Credentials.existingSecret }}
      key: {{ .Values.s3Credentials.secretAccessKeyKey }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}
