// Method + path -> handler. Unknown paths are 404; a known path with another method is 405.
import { MlxBatchError } from '../../shared/errors';
import type { Handler } from './context';

export interface Route {
  method: 'GET' | 'POST';
  path: string;
  handler: Handler;
}

export class Router {
  private readonly routes = new Map<string, Map<string, Handler>>();

  add(route: Route): this {
    const byMethod = this.routes.get(route.path) ?? new Map<string, Handler>();
    byMethod.set(route.method, route.handler);
    this.routes.set(route.path, byMethod);
    return this;
  }

  /** The handler and the route name used in metrics; throws 404/405. */
  match(method: string, pathname: string): { handler: Handler; route: string } {
    const path = pathname.length > 1 ? pathname.replace(/\/+$/, '') : pathname;
    const byMethod = this.routes.get(path);
    if (!byMethod) throw new MlxBatchError('not_found', `no route ${method} ${pathname}; see docs/API.md for the endpoints`);
    const handler = byMethod.get(method === 'HEAD' ? 'GET' : method);
    if (!handler) {
      throw new MlxBatchError('method_not_allowed', `${pathname} accepts ${[...byMethod.keys()].join(', ')}, not ${method}`);
    }
    return { handler, route: path };
  }

  allowed(pathname: string): string[] {
    return [...(this.routes.get(pathname)?.keys() ?? [])];
  }
}
