// Uploads a statement file with progress (fetch cannot report upload progress; XHR can).
import { ApiError, type Api, type ImportStatementResponseJson } from "./api";

export function guessContentType(name: string, type: string): string {
  if (type) return type;
  const ext = name.toLowerCase().split(".").pop();
  if (ext === "csv") return "text/csv";
  if (ext === "ofx" || ext === "qfx") return "application/x-ofx";
  if (ext === "qif") return "application/qif";
  return "application/octet-stream";
}

export function uploadStatement(
  api: Api,
  file: File,
  requestId: string,
  locale: string,
  onProgress: (fraction: number) => void,
): { promise: Promise<ImportStatementResponseJson>; abort: () => void } {
  const xhr = new XMLHttpRequest();
  const promise = new Promise<ImportStatementResponseJson>((resolve, reject) => {
    xhr.open("POST", api.importUrl(file.name, requestId, locale));
    for (const [k, v] of Object.entries(api.authHeaders())) xhr.setRequestHeader(k, v);
    xhr.setRequestHeader("content-type", guessContentType(file.name, file.type));
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        try {
          resolve(JSON.parse(xhr.responseText || "{}") as ImportStatementResponseJson);
        } catch {
          reject(new ApiError(xhr.status, "the server's answer was not JSON"));
        }
      } else {
        if (xhr.status === 401) api.notifyUnauthenticated();
        reject(ApiError.fromBody(xhr.status, xhr.responseText));
      }
    };
    xhr.onerror = () => reject(new ApiError(0, "network error"));
    xhr.onabort = () => reject(new DOMException("aborted", "AbortError"));
    xhr.send(file);
  });
  return { promise, abort: () => xhr.abort() };
}
