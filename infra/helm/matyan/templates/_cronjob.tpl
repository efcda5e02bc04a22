{{/*
One cleanup CronJob. Call with (dict "root" $ "component" "cleanup-tombstones" "schedule" "..."
"args" (list ...)). concurrencyPolicy Forbid keeps runs from overlapping; the job's own store lock
(--lock-ttl-seconds) also covers a run started by hand.
*/}}
{{- define "matyan.cleanupCronJob" -}}
{{- $root := .root -}}
{{- $jobs := $root.Values.cronJobs -}}
apiVersion: batch/v1
kind: CronJob
metadata:
  name: {{ include "matyan.fullname" $root }}-{{ .component }}
  labels:
    {{- include "matyan.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
spec:
  schedule: {{ .schedule | quote }}
  concurrencyPolicy: Forbid
  successfulJobsHistoryLimit: {{ $jobs.successfulJobsHistoryLimit }}
  failedJobsHistoryLimit: {{ $jobs.failedJobsHistoryLimit }}
  jobTemplate:
    spec:
      backoffLimit: {{ $jobs.backoffLimit }}
      activeDeadlineSeconds: {{ int64 $jobs.activeDeadlineSeconds }}
      template:
        metadata:
          labels:
            {{- include "matyan.selectorLabels" (dict "root" $root "component" .component) | nindent 12 }}
        spec:
          restartPolicy: Never
          serviceAccountName: {{ include "matyan.serviceAccountName" $root }}
          {{- with $root.Values.imagePullSecrets }}
          imagePullSecrets:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          securityContext:
            {{- toYaml $root.Values.podSecurityContext | nindent 12 }}
          containers:
            - name: {{ .component }}
              image: {{ include "matyan.image" (dict "root" $root "image" $root.Values.image.ops) }}
              imagePullPolicy: {{ $root.Values.image.pullPolicy }}
              args:
                {{- toYaml .args | nindent 16 }}
              env:
                {{- include "matyan.env" $root | nindent 16 }}
              securityContext:
                {{- toYaml $root.Values.securityContext | nindent 16 }}
              resources:
                {{- toYaml $jobs.resources | nindent 16 }}
              volumeMounts:
                {{- include "matyan.volumeMounts" $root | nindent 16 }}
          volumes:
            {{- include "matyan.volumes" $root | nindent 12 }}
          {{- with $jobs.nodeSelector }}
          nodeSelector:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- with $jobs.tolerations }}
          tolerations:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- with $jobs.affinity }}
          affinity:
            {{- toYaml . | nindent 12 }}
          {{- end }}
{{- end }}
