# attn_widget in a marimo notebook: `marimo edit notebooks/marimo_explainer.py`
# (or `marimo run notebooks/marimo_explainer.py` for the app view).
import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium")


@app.cell
def _():
    import marimo as mo

    import attn_widget

    return attn_widget, mo


@app.cell
def _(mo):
    mo.md("""
    # attn_widget in marimo

    Type a text: the model's attention groups its tokens, each group is
    highlighted in the text, and a click on a group explains it. Move the
    **threshold** slider: the table below follows it, because marimo re-runs
    every cell that reads the widget's value.
    """)
    return


@app.cell
def _(mo):
    text = mo.ui.text_area(
        value="The cat sat on the mat because it was tired. Then the dog barked at it.",
        label="Text",
        full_width=True,
    )
    text
    return (text,)


@app.cell
def _(attn_widget, text):
    # GPT-2 small by default; offline, attn_widget falls back to SmolLM2 and says so in result.notices
    result = attn_widget.analyze(text.value)
    return (result,)


@app.cell
def _(attn_widget, mo, result):
    explainer = mo.ui.anywidget(attn_widget.AttentionExplainer(result))  # the widget shows any notice
    mo.vstack([mo.md(f"Model used: **{result.model}**"), explainer])
    return (explainer,)


@app.cell
def _(explainer, mo):
    # explainer.value (the widget's traits) makes this cell re-run whenever the slider moves
    threshold = explainer.value["threshold"]
    mo.vstack([
        mo.md(f"Clusters at threshold **{threshold:.4g}**:"),
        mo.plain_text(explainer.widget.analysis.table()),
    ])
    return


if __name__ == "__main__":
    app.run()
