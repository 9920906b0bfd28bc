"""After the call: summary, chart data, the HTML report, export and the history API."""
