// The backend's state as the status bar, commands and tests see it.
export type BackendStatus =
  | { state: 'stopped' }
  | { state: 'starting'; progress: number; message: string }
  | { state: 'ready'; url: string; model: string; remote: boolean }
  | { state: 'error'; message: string };
