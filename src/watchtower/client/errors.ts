/** A refusal or failure of the watchtower client, with LND's text where LND has one. */
export class WtClientError extends Error {
  override name = 'WtClientError';
}
