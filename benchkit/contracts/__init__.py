"""L0 contracts: the pure data types that several layers share, importing nothing of benchkit above L0.

* ``run_records``    the run record (``RunRecord``): what a run writes and a release reads
* ``search_records`` the search record (``search.json``): what a search writes and a release links
* ``recipe``         the recipe fields (``Recipe``) that cards, recipe files, the plan and the DVC pipeline name
* ``formats``        the data-format names and what a card may say of each (read options, local or Hub)
* ``word_splitters`` the word splitters an ``entity_spans:`` card may name (declared regular expressions)
"""
