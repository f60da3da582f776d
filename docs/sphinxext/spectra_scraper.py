"""A sphinx-gallery image scraper for figures made without pyplot."""


def figure_scraper(block, block_vars, gallery_conf):
    """Save every matplotlib Figure a gallery block left in its namespace.

    spectra's figure functions never touch ``matplotlib.pyplot`` (so sphinx-gallery's own
    scraper, which asks pyplot for open figures, sees none); this scraper looks for
    ``Figure`` objects among the example's globals instead.
    """
    from matplotlib.figure import Figure
    from sphinx_gallery.scrapers import figure_rst

    seen = gallery_conf.setdefault("_spectra_seen_figures", set())
    paths = []
    for value in list(block_vars["example_globals"].values()):
        figs = value.values() if isinstance(value, dict) else [value]
        for fig in figs:
            if isinstance(fig, Figure) and id(fig) not in seen:
                seen.add(id(fig))
                path = next(block_vars["image_path_iterator"])
                fig.savefig(path, dpi=90)
                paths.append(path)
    return figure_rst(paths, gallery_conf["src_dir"])
