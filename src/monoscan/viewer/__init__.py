"""The result viewer: an offline HTML page per result (:mod:`~monoscan.viewer.page`,
:mod:`~monoscan.viewer.report`) and a localhost server (:mod:`~monoscan.viewer.server`)."""
