// Where a webview's assets come from (media/ and the bundles in dist/webview/), and its HTML
// shell for one bundle: the one place both webviews (chat, benchmark) are set up.
import * as vscode from 'vscode';
import { nonce, webviewHtml } from './html';

/** The folders a webview may load from (`localResourceRoots`). */
export function webviewRoots(extensionUri: vscode.Uri): vscode.Uri[] {
  return [vscode.Uri.joinPath(extensionUri, 'media'), vscode.Uri.joinPath(extensionUri, 'dist', 'webview')];
}

/** The HTML of a webview running `dist/webview/<bundle>.js` styled by `media/<bundle>.css`. */
export function bundleHtml(webview: vscode.Webview, extensionUri: vscode.Uri, bundle: string, title: string, body: string): string {
  const [media, bundles] = webviewRoots(extensionUri);
  return webviewHtml({
    cspSource: webview.cspSource,
    nonce: nonce(),
    title,
    scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(bundles, `${bundle}.js`)).toString(),
    styleUris: [webview.asWebviewUri(vscode.Uri.joinPath(media, `${bundle}.css`)).toString()],
    body,
  });
}
