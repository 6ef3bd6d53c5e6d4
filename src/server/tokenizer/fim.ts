// Moved to src/server/fim/ (the server side of fill-in-the-middle). This re-export stays only
// while src/server/load-service.ts, whose owner changes it separately, still imports this path.
export * from '../fim';
